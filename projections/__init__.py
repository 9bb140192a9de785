"""Read models built from the event stream: ``oltp`` for daily work, ``olap`` for analysis."""
