-- task_messages follows tasks through a statement trigger rather than a foreign key. The key's check ran once per
-- message inserted, inside the status writer's one statement per batch (a seventh of that statement's time on
-- PGlite), and guarded nothing that statement does not already: it inserts a task's messages only for the task
-- rows it has just updated (and so locked) itself. What the key also did, removing a deleted task's messages, the
-- trigger does once per DELETE statement on tasks (the retention sweep, and a user's deletion cascading to tasks).
ALTER TABLE task_messages DROP CONSTRAINT task_messages_task_id_fkey;

CREATE FUNCTION task_messages_of_deleted_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM task_messages m USING deleted_tasks d WHERE m.task_id = d.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER tasks_delete_messages AFTER DELETE ON tasks
  REFERENCING OLD TABLE AS deleted_tasks
  FOR EACH STATEMENT EXECUTE FUNCTION task_messages_of_deleted_tasks();
