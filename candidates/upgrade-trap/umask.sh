# Files root creates (backups among them) are private.
umask 077
