// Placeholder while the target is being written; replaced by its issue's work.
