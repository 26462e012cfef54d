"""When and where a project learns: change counts, single-flight runs, runners, instant events."""
