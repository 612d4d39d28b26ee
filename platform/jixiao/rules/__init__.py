"""Built-in rule plugins. ``national`` holds the national defaults, written as a plugin like any region's."""
