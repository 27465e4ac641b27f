"""CodePro lead scoring: how likely is a bought lead to complete the application (L2AC)?"""

__version__ = "0.1.0"
