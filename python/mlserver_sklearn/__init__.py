from .sklearn import SKLearnModel

__all__ = ["SKLearnModel"]
