"""Herald's kernel: everything that is neither a channel plugin nor the sender's hot loop."""
