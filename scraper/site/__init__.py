"""The Jekyll site: post text and files, their index, mirrored photos, the skeleton and the site build."""
