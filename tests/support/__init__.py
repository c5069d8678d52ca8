"""Helpers the tests share (servers on loopback); conftest files keep the fixtures."""
