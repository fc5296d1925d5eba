"""The text syntax of robustdsl (robustdsl.lark), shipped as package data."""
