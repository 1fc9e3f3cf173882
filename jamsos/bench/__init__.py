"""Benchmarks behind `jamsos bench`: figures come from here, never from timed tests."""
