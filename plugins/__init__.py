"""Herald's built-in channel plugins, each registered through the herald.channels entry-point group."""
