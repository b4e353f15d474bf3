"""What only our own tests need, by topic. The fixtures and the helpers a project built on the
service would use too (databases, accounts, statement counts, plans) are the package's:
service/testing/."""
