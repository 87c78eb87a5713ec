"""The gallery's order: the quickstart first, then from the lightest example to the
heaviest (sphinx-gallery's ``within_subsection_order``)."""

ORDER = [
    "quickstart.py",
    "plot_pipeline_column_transformer.py",
    "plot_grid_search.py",
    "plot_gate_weights.py",
    "plot_custom_experts.py",
    "plot_missing_labels.py",
    "plot_text_columns.py",
    "plot_recommendation.py",
    "plot_synthetic_correlation.py",
    "plot_census_income.py",
    "plot_mixed_tasks.py",
]


class GalleryOrder:
    """Sort key of an example's file name: its place in ``ORDER`` (unlisted files
    last, by name)."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        return (
            (ORDER.index(filename), "") if filename in ORDER else (len(ORDER), filename)
        )

    def __repr__(self):
        return f"<{type(self).__name__}>"
