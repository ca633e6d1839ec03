"""HTML trend reports per unit (issue 5).

``queries`` (SQL → rows, on the views of migration 0002) → ``metrics`` (rows → numbers) →
``figures`` (numbers → Plotly figures) → ``render`` (figures + Jinja2 templates → HTML), with
``i18n`` for Vietnamese/English labels and formats; ``build.build_reports`` runs them all.
"""
