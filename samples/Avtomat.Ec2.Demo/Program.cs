Console.WriteLine("demo: under construction");
