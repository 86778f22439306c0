"""The screens (ui/) as real Qt windows on the offscreen platform (pytest-qt); marked gui."""
