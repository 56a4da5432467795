"""Tests of the channel plugins, each against its provider emulator over real sockets."""
