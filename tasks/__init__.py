"""Pure, typed building blocks of the wirehouse pipeline (no Prefect imports, except prefect_tasks)."""
