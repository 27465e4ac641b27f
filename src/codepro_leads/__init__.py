"""CodePro lead scoring: a Kedro project that scores how likely a lead is to complete the application."""

__version__ = "0.1.0"
