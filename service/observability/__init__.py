"""What an operator sees of the running service: metrics, request context in logs, traces.

A leaf package: it imports nothing else of ours, so every layer may report through it.
"""
