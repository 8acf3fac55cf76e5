"""msgxc's Spark jobs: streaming roll-ups of the events topic and batch reports over Cassandra."""
