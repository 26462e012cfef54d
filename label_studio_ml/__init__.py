"""The serving framework: the Label Studio ML backend protocol for any model, upstream 2.x compatible.

Upstream backends import its faces (``api``, ``model``, ``response``, ``utils``); behind them a package
per concern: ``server``, ``learning``, ``state``, ``studio``, ``compat``, ``commands``. It never imports
torch or a model library: see docs/ARCHITECTURE.md.
"""
