"""The bot's services, free of Discord: ratings, the serving model, queries, sessions, polls.

Nothing here imports discord.py; the Discord layer (`bot.discord`) calls these services and
nothing else, so every rule lives in exactly one of them.
"""
