"""Discord members as model rows: the one owner of "a member is the negated snowflake"."""

from __future__ import annotations

import numpy as np


class MemberKeys:
    """Maps Discord member ids to model user keys and back.

    MovieLens user ids are positive, snowflakes are positive: negating a snowflake gives a
    key that can never collide with a MovieLens user.
    """

    @staticmethod
    def key(member_id: int) -> int:
        """The model key of one member."""
        return -int(member_id)

    @staticmethod
    def keys(member_ids: np.ndarray) -> np.ndarray:
        """Model keys of many members (int64)."""
        return -np.asarray(member_ids, dtype=np.int64)

    @staticmethod
    def member(key: int) -> int:
        """The member id behind a model key."""
        return -int(key)

    @staticmethod
    def members_in(user_keys: np.ndarray) -> list[int]:
        """Member ids among a model's user keys (MovieLens users are left out)."""
        keys = np.asarray(user_keys, dtype=np.int64)
        return (-keys[keys < 0]).tolist()
