-- Reserved: migration 0031 belongs to the helper branch "subs". This
-- stand-in keeps the versions contiguous (internal/db.Migrations requires
-- it) on branch "privacy", whose own change is 0032. Drop this file when
-- merging if "subs" brings its own 0031.
SELECT 1;
