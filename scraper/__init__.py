"""Mirror a news site (CNA first) into a Jekyll blog: poll feeds, fetch and clean articles, write posts."""

__version__ = "0.1.0"
