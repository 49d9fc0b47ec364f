"""The member-key rule: members are model rows under negated snowflakes, never MovieLens ids."""

from __future__ import annotations

import numpy as np

from bot.core.keys import MemberKeys

SNOWFLAKE = 1_234_567_890_123_456_789


def test_a_member_key_is_the_negated_snowflake_and_back():
    assert MemberKeys.key(SNOWFLAKE) == -SNOWFLAKE
    assert MemberKeys.member(MemberKeys.key(SNOWFLAKE)) == SNOWFLAKE
    assert MemberKeys.key(2**63 - 1) == -(2**63 - 1)
    assert np.int64(MemberKeys.key(2**63 - 1)) == -(2**63 - 1)  # fits the model's id dtype


def test_many_keys_at_once_match_one_at_a_time():
    members = np.array([1, 42, SNOWFLAKE, 2**63 - 1], dtype=np.int64)
    keys = MemberKeys.keys(members)
    assert keys.dtype == np.int64
    assert keys.tolist() == [MemberKeys.key(int(m)) for m in members]


def test_members_are_found_among_movielens_users():
    user_ids = np.array([1, 2, 943, -SNOWFLAKE, -42], dtype=np.int64)
    assert sorted(MemberKeys.members_in(user_ids)) == [42, SNOWFLAKE]
    assert MemberKeys.members_in(np.array([1, 2, 3])) == []
