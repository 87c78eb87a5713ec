"""The table every variant axis keeps its variants in (architectures, gate types,
expert types): a name -> variant mapping whose ``register`` adds one."""


class Registry(dict):
    """Variants by name: each an instance of a class that sets ``name`` and ``doc``.

    The estimators validate against its keys as they are when a fit starts, and
    their docstrings list its entries as they are at import.
    """

    def register(self, variant_class):
        """Add an instance of ``variant_class`` under its ``name``; returns the class,
        so that this serves as a class decorator."""
        self[variant_class.name] = variant_class()
        return variant_class
