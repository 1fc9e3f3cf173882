"""`jamsos demo`: the whole pipeline on the local stack, a simulated workload, a report."""
