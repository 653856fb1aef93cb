"""driftwarden: keep a production model honest.

Serve a tabular model, log every prediction, measure drift against the reference profile that
travels with the model, and close the loop through retraining and promotion.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
