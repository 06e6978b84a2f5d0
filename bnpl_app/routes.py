"""Route constants: every URL in the app is named here, nobody hand-writes one."""

INDEX = "/"
