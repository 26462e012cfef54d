"""Property-based and fuzz tests of the protocol, the configs and the served processes."""
