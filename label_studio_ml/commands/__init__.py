"""``label-studio-ml`` sub-commands beyond ``start``: ``create``, ``worker``, and ``make run``."""
