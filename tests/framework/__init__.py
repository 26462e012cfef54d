"""Tests of the serving framework (label_studio_ml), its upstream compatibility included."""
