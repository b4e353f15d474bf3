"""The text search configuration, handed to PostgreSQL as the session setting that the trigger
on blogs (sql/migrations/0006_blogs_search_vector.sql) reads."""

SEARCH_CONFIG_SETTING = "blog_api.search_config"


def session_settings(search_config: str | None) -> dict[str, str]:
    return {SEARCH_CONFIG_SETTING: search_config} if search_config else {}
