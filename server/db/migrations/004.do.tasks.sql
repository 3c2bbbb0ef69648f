-- Tasks (contract §6). One row per task; its message log lives in task_messages.
CREATE TABLE tasks (
  id           uuid    PRIMARY KEY,
  -- Insertion order, so "newest first" is exact even for tasks created in the same millisecond.
  ord          bigserial NOT NULL,
  owner        text    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  processor    text    NOT NULL,
  title        text,
  status       text,
  complete     boolean NOT NULL DEFAULT false,
  progress     jsonb,
  speeds       jsonb   NOT NULL DEFAULT '[]',
  -- Last TaskUpdate.seq handed out (0 at creation); listeners use it to drop duplicates and see gaps.
  seq          integer NOT NULL DEFAULT 0,
  -- How many messages were ever appended; task_messages.n runs from 1 to this.
  msg_count    integer NOT NULL DEFAULT 0,
  started_at   bigint  NOT NULL,
  modified_at  bigint  NOT NULL,
  completed_at bigint
);
CREATE INDEX tasks_owner_ord ON tasks (owner, ord DESC);
CREATE INDEX tasks_completed_at ON tasks (completed_at) WHERE complete;

-- Only the latest 1000 messages of a task are kept; older ones are trimmed as new ones arrive.
CREATE TABLE task_messages (
  task_id uuid    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  n       integer NOT NULL,
  message text    NOT NULL,
  PRIMARY KEY (task_id, n)
);
