"""What a task is: one description per kind of task (classification, regression,
count), their registry and "auto" inference, and funnels between tasks."""
