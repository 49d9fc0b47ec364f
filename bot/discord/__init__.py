"""The Discord layer: the discord.py client, command tree, views, components, cogs, renderers.

It talks to the services of `bot.core` only; it never touches the store or the model.
"""
