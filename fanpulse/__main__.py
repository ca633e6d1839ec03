from fanpulse.cli import main

main()
