from .xgboost import XGBoostModel

__all__ = ["XGBoostModel"]
