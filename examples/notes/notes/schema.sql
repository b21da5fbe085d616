-- The notes schema; `treadle --app notes init-db` runs it, dropping existing data.
DROP TABLE IF EXISTS note;
DROP TABLE IF EXISTS user;

CREATE TABLE user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT UNIQUE NOT NULL,
    password TEXT NOT NULL
);

CREATE TABLE note (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id INTEGER NOT NULL REFERENCES user (id),
    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The uploaded file: its name as the user gave it, and the name it is stored under.
    attachment_name TEXT,
    attachment_file TEXT
);

CREATE INDEX note_author ON note (author_id, id);
