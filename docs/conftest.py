"""pytest collects the pages' doctests (``*.rst``) here, not the build's own files."""

collect_ignore_glob = [
    "*.py",
    "_build/*",
    "auto_examples/*",
    "generated/*",
    "gen_modules/*",
]
