"""Numerical back ends of robustdsl, installed as `robustdsl.solvers`.

They consume IR programs (robustdsl.ir) and import nothing else from the front end
except robustdsl.errors.
"""
