module localaik.dev/go

go 1.19
