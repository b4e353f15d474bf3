"""Testing a blog-api service, and services built on it, against a real PostgreSQL.

The pytest plugin (`service.testing.plugin`, registered as `blog_api` in the `pytest11` group)
gives the fixtures; the modules here are the helpers tests call:

- `databases`: connections of a test's own, scratch and seeded databases, rolled-back blocks;
- `accounts`: users signed up and logged in through the API;
- `app`: the settings tests run the app with, and the app factory the fixtures call;
- `statements`: the statements a connection runs, to hold a request to one statement;
- `plans`: a statement's plan as it really runs, and what in it grows with a table.

docs/extending.md shows them at work. Nothing here imports httpx, so the plugin loads where
pytest is installed without it; the fixtures that need it say so when asked for.
"""
