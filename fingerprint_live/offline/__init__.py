"""Offline work, apart from what runs in a call: fitting, training, evaluation."""
