"""The article stage: a page fetched, its extractor chosen, the article extracted and cleaned."""
