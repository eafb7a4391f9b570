"""The executive dashboard: the published copy of the marts it reads, and its pages."""
