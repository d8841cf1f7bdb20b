# runtime/: the application API (tasks, channels, async) lands here.
