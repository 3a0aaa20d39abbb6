from localaik.cli import main

main()
