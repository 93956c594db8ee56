# The pyalloc-bench Python package: the CLI's commands and the library they share.
# Runs on Debian's /usr/bin/python3 (matplotlib and scipy are Debian packages).
